import Dispatch

extension DispatchQueue {
    /// Returns once every work item queued before the call has run (a barrier, so on a
    /// concurrent queue too), without blocking a thread. A shell that stops waits for its own
    /// background writes this way, so nothing of a stopped node still touches its data
    /// directory once it has returned.
    func drained() async {
        await withCheckedContinuation { (resumed: CheckedContinuation<Void, Never>) in
            async(flags: .barrier) { resumed.resume() }
        }
    }
}
