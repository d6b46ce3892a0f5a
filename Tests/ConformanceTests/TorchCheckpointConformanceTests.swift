// Every model case: the tensors read from pytorch_model.bin (zip + pickle) equal model.safetensors
// exactly, and the MosaicBERT MLM head (cls.*) is the only extra the .bin may carry.
import Foundation
import XCTest
import LodestoneModel

final class TorchCheckpointConformanceTests: XCTestCase {
    func testTorchWeightsEqualSafetensorsInEveryModelCase() throws {
        let cases = try TextFixtures.modelCases()
        XCTAssertFalse(cases.isEmpty, "no model cases under \(TextFixtures.root.path)")
        for dir in cases {
            let name = dir.lastPathComponent
            let fromBin = try TorchCheckpoint.read(dir.appendingPathComponent("pytorch_model.bin"))
            let fromSafetensors = try SafeTensors.read(dir.appendingPathComponent("model.safetensors"))
            XCTAssertFalse(fromSafetensors.isEmpty, "\(name): empty model.safetensors")
            for (tensorName, expected) in fromSafetensors {
                guard let got = fromBin[tensorName] else { XCTFail("\(name): \(tensorName) missing from pytorch_model.bin"); continue }
                XCTAssertEqual(got.shape, expected.shape, "\(name): \(tensorName) shape")
                XCTAssertTrue(got.values == expected.values, "\(name): \(tensorName) values differ")
            }
            for extra in Set(fromBin.keys).subtracting(fromSafetensors.keys) {
                XCTAssertTrue(extra.hasPrefix("cls."), "\(name): unexpected extra tensor \(extra) in pytorch_model.bin")
            }
        }
    }
}
