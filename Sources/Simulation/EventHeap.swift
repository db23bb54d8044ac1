/// A binary min-heap of events ordered by (time, insertion order): the
/// simulator's clock. Ties break by insertion, so runs are deterministic.
/// The clock never goes back: an event pushed for a time already past (a state
/// machine's deadline that passed while it waited) happens now.
struct EventHeap<Event> {
    private var items: [(time: UInt64, order: UInt64, event: Event)] = []
    private var counter: UInt64 = 0
    /// The time of the last event popped.
    private(set) var now: UInt64 = 0

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }

    mutating func push(_ event: Event, at time: UInt64) {
        counter += 1
        items.append((max(time, now), counter, event))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard less(i, parent) else { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (time: UInt64, event: Event)? {
        guard !items.isEmpty else { return nil }
        items.swapAt(0, items.count - 1)
        let top = items.removeLast()
        now = top.time
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < items.count, less(l, smallest) { smallest = l }
            if r < items.count, less(r, smallest) { smallest = r }
            guard smallest != i else { break }
            items.swapAt(i, smallest)
            i = smallest
        }
        return (top.time, top.event)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        (items[a].time, items[a].order) < (items[b].time, items[b].order)
    }
}
