import ArgumentParser
import BundlecastCore
import Foundation
import Publisher

/// The exit codes every command shares (documented in `bundlecast --help`).
enum Exit {
    static let verificationFailed: Int32 = 1
    static let badInput: Int32 = 2
    static let expired: Int32 = 3
}

/// A failure to show as one line, with the exit code it deserves.
struct Failure: Error, CustomStringConvertible {
    let message: String
    let code: Int32

    init(_ message: String, code: Int32 = Exit.badInput) {
        self.message = message
        self.code = code
    }

    var description: String { message }
}

/// Runs a command body and turns any error into one line on stderr and an
/// exit code: never a stack trace.
func reporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch let error as Failure {
        printError(error.message)
        throw ExitCode(error.code)
    } catch let error as SignatureError {
        printError(error.description)
        throw ExitCode(Exit.verificationFailed)
    } catch {
        printError(String(describing: error))
        throw ExitCode(Exit.badInput)
    }
}

/// ``reporting(_:)`` for async command bodies.
func reportingAsync(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch {
        try reporting { throw error }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data("bundlecast: error: \(message)\n".utf8))
}

func printWarning(_ message: String) {
    FileHandle.standardError.write(Data("bundlecast: warning: \(message)\n".utf8))
}
