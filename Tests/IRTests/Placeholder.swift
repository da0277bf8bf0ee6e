import XCTest
final class PlaceholderIRTests: XCTestCase { func testNothing() {} }
