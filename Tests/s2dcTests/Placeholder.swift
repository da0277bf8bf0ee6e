import XCTest
final class Placeholders2dcTests: XCTestCase { func testNothing() {} }
