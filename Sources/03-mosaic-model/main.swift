import LodestoneCore
print("03-mosaic-model: not built yet")
