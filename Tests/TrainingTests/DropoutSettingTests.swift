// `dropout` of TrainingConfig: --dropout auto|off|P and the config file's key, their errors, the rates each
// gives for a model, and the checkpoint's copy of the setting.
import Foundation
import XCTest
@testable import LodestoneCore
import LodestoneCLI
import LodestoneTrainingCLI

final class DropoutSettingTests: XCTestCase {
    func testFlagSetsTheDropoutAndBadValuesNameTheFlag() throws {
        XCTAssertEqual(try TrainingOverrides.parse([]).trainingConfig().dropout, .auto)
        XCTAssertEqual(try TrainingOverrides.parse(["--dropout", "auto"]).trainingConfig().dropout, .auto)
        XCTAssertEqual(try TrainingOverrides.parse(["--dropout", "off"]).trainingConfig().dropout, .off)
        XCTAssertEqual(try TrainingOverrides.parse(["--dropout", "0.1"]).trainingConfig().dropout, .rate(0.1))
        XCTAssertEqual(try TrainingOverrides.parse(["--dropout", "0"]).trainingConfig().dropout, .rate(0))
        for bad in ["sometimes", "1", "-0.1", "nan"] {
            XCTAssertThrowsError(try TrainingOverrides.parse(["--dropout", bad]).trainingConfig(), bad) {
                XCTAssertTrue("\($0)".contains("dropout"), "\($0)")
            }
        }
    }

    func testConfigFileKeyAndItsErrors() throws {
        let dir = temporaryDirectory(); defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("c.json")
        for (json, expected) in [(#"{"dropout": 0.25}"#, DropoutSetting.rate(0.25)), (#"{"dropout": "off"}"#, .off),
                                 (#"{"dropout": "auto"}"#, .auto), (#"{"dropout": "0.5"}"#, .rate(0.5)), ("{}", .auto)] {
            try Data(json.utf8).write(to: file)
            XCTAssertEqual(try TrainingConfig.load(file).dropout, expected, json)
        }
        // The flag overrides the file.
        try Data(#"{"dropout": 0.25}"#.utf8).write(to: file)
        XCTAssertEqual(try TrainingOverrides.parse(["--config", file.path, "--dropout", "off"]).trainingConfig().dropout, .off)
        for json in [#"{"dropout": "maybe"}"#, #"{"dropout": 1.5}"#, #"{"dropout": true}"#] {
            try Data(json.utf8).write(to: file)
            XCTAssertThrowsError(try TrainingConfig.load(file), json) {
                XCTAssertTrue("\($0)".contains("c.json") && "\($0)".contains("'dropout'"), "\($0)")
            }
        }
    }

    /// The checkpoint keeps the config as JSON: every setting survives the round trip, and a checkpoint written
    /// before the key existed reads as auto.
    func testSettingSurvivesTheCheckpointsJSON() throws {
        for setting in [DropoutSetting.auto, .off, .rate(0.1)] {
            var c = TrainingConfig(); c.dropout = setting
            XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: JSONEncoder().encode(c)), c)
        }
        XCTAssertEqual(try JSONDecoder().decode(TrainingConfig.self, from: Data("{}".utf8)).dropout, .auto)
    }

    func testRatesForAModel() throws {
        var raw = EncoderConfig(mosaic: true, hidden: 6, layers: 1, heads: 3, intermediate: 5).raw
        raw["hidden_dropout_prob"] = 0.1
        raw["attention_probs_dropout_prob"] = 0.0   // the original's config edit
        let cfg = try EncoderConfig(json: raw)
        XCTAssertEqual(try DropoutSetting.auto.rates(for: cfg), DropoutRates(hidden: 0.1, attention: 0))
        XCTAssertEqual(try DropoutSetting.off.rates(for: cfg), .none)
        XCTAssertEqual(try DropoutSetting.rate(0.3).rates(for: cfg), DropoutRates(hidden: 0.3, attention: 0.3))
        raw["hidden_dropout_prob"] = 1.0
        XCTAssertThrowsError(try DropoutSetting.auto.rates(for: try EncoderConfig(json: raw))) {
            XCTAssertTrue("\($0)".contains("hidden_dropout_prob"), "\($0)")
        }
        XCTAssertEqual(try DropoutSetting.off.rates(for: try EncoderConfig(json: raw)), .none, "off needs no valid rates")
    }

    /// The trainer of a model directory drops as its config.json says under auto, and not at all under off.
    func testTrainerOfADirectoryTakesTheConfigsRates() throws {
        var directory = try SentenceTransformerDirectory.read(RealModelTrainingTests.fixtures.appendingPathComponent("mosaic-tiny"))
        XCTAssertEqual(try EncoderTrainer(directory: directory, config: TrainingConfig()).dropout, .none, "the fixture says 0")
        var raw = directory.config.raw
        raw["hidden_dropout_prob"] = 0.1
        directory.config = try EncoderConfig(json: raw)
        XCTAssertEqual(try EncoderTrainer(directory: directory, config: TrainingConfig()).dropout, DropoutRates(hidden: 0.1, attention: 0))
        var off = TrainingConfig(); off.dropout = .off
        XCTAssertEqual(try EncoderTrainer(directory: directory, config: off).dropout, .none)
    }
}
