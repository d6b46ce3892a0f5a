// LodestoneCore: the one import the numbered steps need. It re-exports the library targets along the data flow.
@_exported import LodestoneBase
@_exported import LodestoneStorage
@_exported import LodestoneData
@_exported import LodestoneText
@_exported import LodestoneTensor
@_exported import LodestoneModel
@_exported import LodestoneEvaluation
@_exported import LodestoneTraining
@_exported import LodestoneReport
