// LodestoneTraining: see the module's files.
