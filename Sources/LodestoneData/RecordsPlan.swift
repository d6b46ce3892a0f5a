import Foundation
import LodestoneBase
import LodestoneStorage

/// What a run of 02-data-records must do: reuse the sidecar's counts of unchanged objects, recount the rest.
public struct RecordsPlan {
    public var objects: [ObjectInfo]
    public var reused: [String: RecordsSidecar.Entry] = [:]   // by full key
    public var recount: [ObjectInfo] = []

    public init(objects: [ObjectInfo], sidecar: RecordsSidecar?, force: Bool) {
        self.objects = objects
        for info in objects {
            if !force, let entry = sidecar?.reusable(info) { reused[info.key] = entry } else { recount.append(info) }
        }
    }
}
