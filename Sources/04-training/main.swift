import LodestoneCore
print("04-training: not built yet")
