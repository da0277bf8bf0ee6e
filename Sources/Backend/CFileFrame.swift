// CFileFrame: the header guard and include lines every emitted C file pair shares (static and dynamic).

/// The fixed frame around the generated declarations and definitions, printed once for both C
/// emitters so that their files open and close the same way.
enum CFileFrame {
    /// `#ifndef P_H`, `#define P_H` and the opening of the `extern "C"` block, after the header's
    /// leading comment.
    static func openHeader(_ h: inout CodePrinter, guardPrefix P: String) {
        h.line("#ifndef \(P)_H")
        h.line("#define \(P)_H")
        h.line()
        h.line("#ifdef __cplusplus")
        h.line("extern \"C\" {")
        h.line("#endif")
        h.line()
    }

    /// Closes the `extern "C"` block and the header guard.
    static func closeHeader(_ h: inout CodePrinter) {
        h.line("#ifdef __cplusplus")
        h.line("}")
        h.line("#endif")
        h.line()
        h.line("#endif")
    }

    /// The source's includes, after its leading comment: its own header, libm, CBLAS when the
    /// kernels call it, stdio when the weights are read from a file.
    static func includes(_ c: inout CodePrinter, header name: String, cblas: Bool, fileWeights: Bool) {
        c.line("#include \"\(name).h\"")
        c.line()
        c.line("#include <math.h>")
        if cblas { c.line("#include <cblas.h>") }
        if fileWeights { c.line("#include <stdio.h>") }
        c.line()
    }
}
