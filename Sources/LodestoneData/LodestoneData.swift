// LodestoneData: see the module's files.
