// LodestoneText: see the module's files.
