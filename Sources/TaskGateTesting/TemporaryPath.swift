#if canImport(Glibc)
    import Glibc
#endif

/// Creates a new empty directory `/tmp/<prefix>-XXXXXX` (mkdtemp) and returns its path; the caller removes it.
public func makeTemporaryDirectory(prefix: String) -> String {
    var template = Array("/tmp/\(prefix)-XXXXXX".utf8CString)
    return template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
}
