import FuzzSupport

/// libFuzzer's entry point, by its C name: its driver refers to it even when this
/// program runs the driver itself.
@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    CSVHarness.test(UnsafeBufferPointer(start: data, count: size))
    return 0
}

Fuzz.main(testOneInput)
