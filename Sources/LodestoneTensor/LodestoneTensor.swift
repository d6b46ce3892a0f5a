// LodestoneTensor: see the module's files.
