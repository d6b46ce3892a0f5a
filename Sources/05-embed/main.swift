import LodestoneCore
print("05-embed: not built yet")
