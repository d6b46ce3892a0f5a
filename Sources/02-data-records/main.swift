import LodestoneCore
print("02-data-records: not built yet")
