import LodestoneCore
print("01-dataloading: not built yet")
