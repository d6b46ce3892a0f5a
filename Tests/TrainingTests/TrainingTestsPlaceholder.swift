import XCTest
@testable import LodestoneCore
