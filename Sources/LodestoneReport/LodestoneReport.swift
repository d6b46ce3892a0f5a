// LodestoneReport: see the module's files.
