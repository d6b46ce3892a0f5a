// LodestoneModel: see the module's files.
