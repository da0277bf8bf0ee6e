import XCTest
final class PlaceholderONNXTests: XCTestCase { func testNothing() {} }
