import CFuzzDriver
import FuzzChecks

// libFuzzer target: see FuzzCheck.timestamp for what is checked.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let outcome = FuzzCheck.timestamp.run(count == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: count)))
    if let failure = outcome.failure { fatalError(failure) }
    return 0
}

// SwiftPM links executables on Linux with main=<module>_main: hand over to libFuzzer's driver.
@_cdecl("FuzzTimestamp_main")
public func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, count in fuzzOne(data, count) }
}
