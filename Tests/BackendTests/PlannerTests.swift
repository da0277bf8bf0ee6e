// PlannerTests: the arena planner reuses memory only between buffers whose lifetimes do not meet.

import XCTest
@testable import Backend

final class PlannerTests: XCTestCase {
    func testDisjointLifetimesShare() {
        let plan = MemoryPlanner.plan([
            BufferRequest(id: "a", size: 100, first: 0, last: 1),
            BufferRequest(id: "b", size: 100, first: 1, last: 2),
            BufferRequest(id: "c", size: 100, first: 2, last: 3),
        ])
        XCTAssertEqual(plan.offsets["a"], plan.offsets["c"])
        XCTAssertNotEqual(plan.offsets["a"], plan.offsets["b"])
        XCTAssertEqual(plan.arenaFloats, 224)
        XCTAssertEqual(plan.totalFloats, 300)
    }

    func testOverlappingBuffersNeverOverlapInMemory() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let requests = (0..<30).map { i -> BufferRequest in
                let first = Int.random(in: 0..<20, using: &rng)
                return BufferRequest(id: "v\(i)", size: Int.random(in: 1..<500, using: &rng), first: first,
                                     last: first + Int.random(in: 0..<5, using: &rng))
            }
            let plan = MemoryPlanner.plan(requests)
            for a in requests {
                let oa = plan.offsets[a.id]!
                XCTAssertEqual(oa % MemoryPlanner.alignment, 0)
                XCTAssertLessThanOrEqual(oa + a.size, plan.arenaFloats)
                for b in requests where a.id < b.id && a.first <= b.last && b.first <= a.last {
                    let ob = plan.offsets[b.id]!
                    XCTAssertTrue(oa + a.size <= ob || ob + b.size <= oa, "\(a) and \(b) overlap")
                }
            }
        }
    }

    func testFloatLiteralsAreExact() {
        for x: Float in [1, 3, 0.1, -2.5, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .leastNormalMagnitude, 1.0 / 3] {
            let text = FloatLiteral.hexMagnitude(abs(x))
            XCTAssertEqual(Float(Double(text.replacingOccurrences(of: "0x", with: "0x")) ?? -1), abs(x), text)
        }
        XCTAssertEqual(FloatLiteral.c(3), "0x1.8p+1f")
        XCTAssertEqual(FloatLiteral.c(-0.0), "-0.0f")
        XCTAssertEqual(FloatLiteral.c(.infinity), "INFINITY")
    }
}
