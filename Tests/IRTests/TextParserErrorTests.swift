// TextParserErrorTests: malformed text fails with a clear message and a line:column, and never crashes.

import XCTest
import IR

/// Asserts that parsing `text` throws an IRError whose description is `expected`.
func assertParseError(_ text: String, _ expected: String, file: StaticString = #filePath, line: UInt = #line) {
    do {
        _ = try TextParser.parse(text)
        XCTFail("parsed without error:\n\(text)", file: file, line: line)
    } catch let error as IRError {
        XCTAssertEqual(error.description, expected, file: file, line: line)
    } catch {
        XCTFail("not an IRError: \(error)", file: file, line: line)
    }
}

/// A graph with input `%x: f32[N,3,8,8]` and output `%y`; `body` starts on line 2.
func graphText(_ body: String) -> String {
    "graph @g(%x: f32[N,3,8,8]) -> (%y) {\n" + body + "\n}\n"
}

final class TextParserErrorTests: XCTestCase {
    func testStructureErrors() {
        assertParseError("", "expected 'graph' at 1:1, found end of input")
        assertParseError("graph g() -> () {}", "expected a graph name such as '@main' at 1:7, found 'g'")
        assertParseError(graphText("  %y = relu(%x {"), "expected ')' at 2:16, found '{'")
        assertParseError(graphText("  %y = relu(%x)"), "missing 'return' before '}' at 3:1")
        assertParseError("graph @g(%x: f32[1]) -> (%x) {\n", "missing 'return' before end of input at 2:1")
        assertParseError(graphText("  return %y"), "undefined value '%y' at 2:10")
        assertParseError(graphText("  return %x"),
                         "returned values (%x) differ from the outputs (%y) in the graph header at 2:3")
        assertParseError(graphText("  %y = relu(%x)\n  return %y") + "graph",
                         "expected end of input after the graph at 5:1, found 'graph'")
        assertParseError(graphText("  relu(%x)"), "expected 'const', a value definition or 'return' at 2:3, found 'relu'")
        assertParseError(graphText("  %y relu(%x)"), "expected '=' at 2:6, found 'relu'")
        assertParseError(graphText("  %y = relu(%x) name = Relu"), "expected a quoted node name at 2:24, found 'Relu'")
        assertParseError("graph @g(%x f32[1]) -> () {", "expected ':' at 1:13, found 'f32'")
        assertParseError("graph @g() (%y) {", "expected '->' at 1:12, found '('")
    }

    /// An input type the verifier would reject is a parse error (found by the fuzz target: the
    /// parser once returned such a graph).
    func testInputTypeTheVerifierRejects() {
        assertParseError("graph @g(%x: f32[1,A1000,1,1]) -> (%x) {\n  return %x\n}\n",
                         "'x' has symbolic dimension 'A1000' at position 1 of f32[1,A1000,1,1]; only the leading (batch) dimension may be symbolic at 1:10")
    }

    func testUnknownOpAndUndefinedValues() {
        assertParseError(graphText("  %y = convv(%x)\n  return %y"), "unknown op 'convv' at 2:8")
        assertParseError(graphText("  %y = relu(%z)\n  return %y"), "undefined value '%z' at 2:13")
        assertParseError(graphText("  %y = relu(%y)\n  return %y"), "undefined value '%y' at 2:13")
        assertParseError(graphText("  %y = add(%x, %\"onnx::W\")\n  return %y"), "undefined value '%\"onnx::W\"' at 2:16")
        assertParseError(graphText("  %y = 3(%x)"), "expected an op name at 2:8, found '3'")
    }

    func testDuplicateDefinitions() {
        assertParseError(graphText("  %y = relu(%x)\n  %y = relu(%x)\n  return %y"),
                         "value '%y' is defined twice (first at 2:3) at 3:3")
        assertParseError(graphText("  %x = relu(%x)\n  return %x"), "value '%x' is defined twice (first at 1:10) at 2:3")
        assertParseError(graphText("  %a, %a = split(%x) {axis = 1, sizes = [1, 2]}"),
                         "value '%a' is defined twice (first at 2:3) at 2:7")
        assertParseError(graphText("  const %x: f32[1] = dense<[1]>"), "value '%x' is defined twice (first at 1:10) at 2:9")
        assertParseError("graph @g(%x: f32[1], %x: f32[2]) -> () {", "value '%x' is defined twice (first at 1:10) at 1:22")
    }

    func testBadTypes() {
        assertParseError("graph @g(%x: f64[1]) -> () {", "unsupported element type 'f64' (every IR value is f32) at 1:14")
        assertParseError("graph @g(%x: [1]) -> () {", "expected a type such as 'f32[N,3,224,224]' at 1:14, found '['")
        assertParseError("graph @g(%x: f32[-1]) -> () {", "integer -1 is out of range for a dimension (0...2147483647) at 1:18")
        assertParseError("graph @g(%x: f32[3)) -> () {", "expected ']' at 1:19, found ')'")
        assertParseError("graph @g(%x: f32[3,]) -> () {", "expected a dimension (an integer or a symbol) at 1:20, found ']'")
        assertParseError("graph @g(%x: f32[2.5]) -> () {", "expected an integer for a dimension at 1:18, found '2.5'")
        assertParseError(graphText("  const %w: f32[N,3] = dense<elided>"),
                         "constant type f32[N,3] must have fixed dimensions at 2:13")
        assertParseError("graph @g(%x: f32[2147483647,2147483647,2147483647]) -> () {",
                         "type f32[2147483647,2147483647,2147483647] has too many elements at 1:14")
        assertParseError("graph @g(%x: f32[0,2147483647,2147483647,2147483647]) -> () {",
                         "type f32[0,2147483647,2147483647,2147483647] has too many elements at 1:14")
    }

    func testTypeMismatchWithInference() {
        assertParseError(graphText("  %y: f32[N,3,8,9] = relu(%x) name = \"R\"\n  return %y"),
                         "node 'R': type of '%y' is written f32[N,3,8,9] but inferred as f32[N,3,8,8] at 2:7")
        assertParseError(graphText("  %y: f32[M,3,8,8] = relu(%x)\n  return %y"),
                         "node 'y': type of '%y' is written f32[M,3,8,8] but inferred as f32[N,3,8,8] at 2:7")
        assertParseError(graphText("  %a, %b: f32[N,1,8,8] = split(%x) {axis = 1, sizes = [1, 2]}"),
                         "node 'a': type of '%b' is written f32[N,1,8,8] but inferred as f32[N,2,8,8] at 2:11")
    }

    func testShapeInferenceErrorsNameTheNodeAndPlace() {
        assertParseError(graphText("  const %w: f32[4] = dense<elided>\n  %y = add(%x, %w) name = \"Add_1\"\n  return %y"),
                         "node 'Add_1': shapes f32[N,3,8,8] and f32[4] do not broadcast at 3:8")
        assertParseError(graphText("  %y = split(%x) {axis = 1, sizes = [1, 2]}"),
                         "node 'y': split produces 2 outputs, node lists 1 at 2:8")
        assertParseError(graphText("  %y = relu()"), "node 'y': relu takes 1 inputs, got 0 at 2:8")
    }

    func testAttributeErrors() {
        assertParseError(graphText("  %y = relu(%x) {alpha = 1}"), "unknown attribute 'alpha' of relu (relu takes no attributes) at 2:18")
        assertParseError(graphText("  %y = softmax(%x) {axes = 1}"),
                         "unknown attribute 'axes' of softmax (expected one of axis) at 2:21")
        assertParseError(graphText("  %y = softmax(%x) {axis = 1, axis = 1}"), "attribute 'axis' is given twice at 2:31")
        assertParseError(graphText("  %y = transpose(%x)"), "node 'y': missing attribute 'perm' of transpose at 2:8")
        assertParseError(graphText("  %y = softmax(%x) {axis = 1.5}"),
                         "expected an integer for attribute 'axis' at 2:28, found '1.5'")
        assertParseError(graphText("  %y = max_pool(%x) {kernel = [2, 2], ceil_mode = 1}"),
                         "expected 'true' or 'false' at 2:51, found '1'")
        assertParseError(graphText("  %y = pad(%x) {pads = [0, 0, 0, 0, 0, 0, 0, 0], mode = mirror}"),
                         "expected a pad mode (constant, reflect, edge, wrap) at 2:57, found 'mirror'")
        assertParseError(graphText("  %y = leaky_relu(%x) {alpha = true}"), "expected a float at 2:32, found 'true'")
        assertParseError(graphText("  %y = softmax(%x) {axis 1}"), "expected '=' at 2:26, found '1'")
    }

    func testHugeIntegers() {
        assertParseError("graph @g(%x: f32[99999999999999999999]) -> () {",
                         "integer 99999999999999999999 is out of range for a dimension at 1:18")
        assertParseError(graphText("  %y = softmax(%x) {axis = 2147483648}"),
                         "integer 2147483648 is out of range for attribute 'axis' (-2147483647...2147483647) at 2:28")
        assertParseError(graphText("  %y = slice(%x) {starts = [9223372036854775808], ends = [1]}"),
                         "integer 9223372036854775808 is out of range for attribute 'starts' at 2:29")
        assertParseError(graphText("  %y = slice(%x) {starts = [0], ends = [1], axes = [2], steps = [-9223372036854775807]}"),
                         "integer -9223372036854775807 is out of range for attribute 'steps' (-2147483647...2147483647) at 2:66")
        assertParseError(graphText("  %y = reshape(%x) {shape = [2147483647, 2147483647, 2147483647, -1]}"),
                         "node 'y': reshape shape [2147483647, 2147483647, 2147483647, -1] has too many elements at 2:8")
        assertParseError("graph @g(%x: f32[2147483647]) -> (%y) {\n  %y = pad(%x) {pads = [1, 0]}\n  return %y\n}",
                         "node 'y': inferred type f32[2147483648] of '%y' exceeds the size limits of textual IR at 2:8")
        // Slice bounds take any 64-bit integer, as ONNX writes "to the end".
        XCTAssertNoThrow(try TextParser.parse(graphText(
            "  %y = slice(%x) {starts = [-9223372036854775808], ends = [9223372036854775807], axes = [2], steps = [1]}\n  return %y")))
    }

    func testConstantErrors() {
        assertParseError(graphText("  const %w: f32[2,2] = dense<[1, 2, 3]>"),
                         "constant of type f32[2,2] needs 4 values, got 3 at 2:30")
        assertParseError(graphText("  const %w: f32[1] = dense<[1e39]>"), "float 1e39 is out of range for f32 at 2:29")
        assertParseError(graphText("  const %w: f32[1] = dense<[0x1p3]>"), "expected a float at 2:29, found '0x1p3'")
        assertParseError(graphText("  const %w: f32[1] = dense<[1.]>"), "expected a float at 2:29, found '1.'")
        assertParseError(graphText("  const %w: f32[1] = dense<[nan(0x3f800000)]>"),
                         "bit pattern 0x3f800000 is not a NaN at 2:33")
        assertParseError(graphText("  const %w: f32[1] = dense<[nan(0x7fc0)]>"),
                         "expected a NaN bit pattern such as '0x7fc00001' at 2:33, found '0x7fc0'")
        assertParseError(graphText("  const %w: f32[1] = dense<splat>"), "expected 'elided' or '[' at 2:28, found 'splat'")
        assertParseError(graphText("  const %w: f32[1] = [1]"), "expected 'dense' at 2:22, found '['")
    }

    func testLexicalErrors() {
        assertParseError(graphText("  %y = relu(%x) name = \"R\n  return %y"), "unterminated string starting at 2:24")
        assertParseError(graphText("  %y = relu(%x) name = \"R\\q\""), "invalid escape sequence '\\q' in string at 2:26")
        assertParseError(graphText("  %y = relu(%x) name = \"\\u{d800}\""),
                         "invalid unicode escape in string, expected '\\u{hex}' naming a Unicode scalar at 2:25")
        assertParseError(graphText("  # comment"), "unexpected character '#' at 2:3")
        assertParseError(graphText("  %y = relu(%x) name = \"R\" \u{7}"), "unexpected character U+0007 at 2:28")
        assertParseError(graphText("  % = relu(%x)"), "expected a name or a quoted string after '%' at 2:3")
        assertParseError(graphText("  %y = relu(%x) / comment"), "unexpected character '/' at 2:17")
        assertParseError("graph @ () -> () { return }", "expected a name or a quoted string after '@' at 1:7")
    }

    /// Every prefix of a real text, and many single-character corruptions of it, either parse or
    /// throw an IRError: nothing traps.
    func testCorruptedTextNeverCrashes() throws {
        let text = TextPrinter.print(try TextFixtures.model(), elideConstantsAbove: 4)
        let scalars = Array(text.unicodeScalars)
        func attempt(_ s: [Unicode.Scalar]) {
            var string = ""
            string.unicodeScalars.append(contentsOf: s)
            do { _ = try TextParser.parse(string) } catch is IRError {} catch { XCTFail("not an IRError: \(error)") }
        }
        for end in stride(from: 0, through: scalars.count, by: 3) { attempt(Array(scalars[..<end])) }
        let replacements: [Unicode.Scalar] = ["(", ")", "{", "}", "[", "]", "<", ">", ",", ":", "=", "%", "@", "\"",
                                              "\\", "-", "0", "9", "e", "N", " ", "\n", "/", "#", "λ"]
        var state: UInt64 = 42
        func random(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(n))
        }
        for _ in 0..<1500 {
            var s = scalars
            let i = random(s.count)
            switch random(3) {
            case 0: s[i] = replacements[random(replacements.count)]
            case 1: s.remove(at: i)
            default: s.insert(s[i], at: i)
            }
            attempt(s)
        }
    }
}
