import Testing
@testable import Swarm

struct TokenBucketTests {
    @Test func startsFullAndRefusesWithoutDebit() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 1000, now: 0)
        #expect(bucket.take(600, now: 0) == true)
        #expect(bucket.take(500, now: 0) == false)  // 400 left
        #expect(bucket.take(400, now: 0) == true)   // the refusal took nothing
        #expect(bucket.take(1, now: 0) == false)
    }

    @Test func refillsAtTheRateAndDelaySaysWhen() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 1000, now: 0)
        #expect(bucket.take(1000, now: 0) == true)
        #expect(bucket.delay(for: 500, now: 0) == 500 * ms)
        #expect(bucket.delay(for: 500, now: 200 * ms) == 300 * ms)
        #expect(bucket.take(500, now: 500 * ms - 1) == false)
        #expect(bucket.delay(for: 500, now: 500 * ms - 1) == 1)
        #expect(bucket.take(500, now: 500 * ms) == true)
        #expect(bucket.delay(for: 0, now: 500 * ms) == 0)
    }

    @Test func neverHoldsMoreThanTheBurst() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 100, now: 0)
        #expect(bucket.take(100, now: 0) == true)
        #expect(bucket.take(100, now: 3600 * second) == true)  // an hour idle earns only the burst
        #expect(bucket.take(1, now: 3600 * second) == false)
    }

    @Test func fractionalRatesAreExactOverManySmallSteps() {
        var stepped = TokenBucket(bytesPerSecond: 3, burst: 10, now: 0)
        var jumped = stepped
        #expect(stepped.take(10, now: 0) == true)
        #expect(jumped.take(10, now: 0) == true)
        // 1/3 byte per 111 ms step: the carry must not be lost.
        for step in 1...27 { _ = stepped.take(0, now: UInt64(step) * 111 * ms) }
        _ = jumped.take(0, now: 27 * 111 * ms)
        #expect(stepped.delay(for: 9, now: 27 * 111 * ms) == jumped.delay(for: 9, now: 27 * 111 * ms))
        // 1 byte at 3 B/s takes ceil(1e9 / 3) ns from empty.
        let empty = { var b = TokenBucket(bytesPerSecond: 3, burst: 10, now: 0); _ = b.take(10, now: 0); return b }()
        #expect(empty.delay(for: 1, now: 0) == 333_333_334)
        var check = empty
        #expect(check.take(1, now: 333_333_333) == false)
        #expect(check.take(1, now: 333_333_334) == true)
    }

    @Test func takesLargerThanTheBurstGoIntoDebt() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 100, now: 0)
        #expect(bucket.take(500, now: 0) == true)          // full: allowed, 400 in debt
        #expect(bucket.take(1, now: 0) == false)
        #expect(bucket.delay(for: 1, now: 0) == 401 * ms)
        #expect(bucket.delay(for: 500, now: 0) == 500 * ms)  // waits for a full bucket, not 500 tokens
        #expect(bucket.take(500, now: 499 * ms) == false)
        #expect(bucket.take(500, now: 500 * ms) == true)
    }

    @Test func largeTakeWaitsForAFullBucket() {
        var bucket = TokenBucket(bytesPerSecond: 1000, burst: 100, now: 0)
        #expect(bucket.take(50, now: 0) == true)
        #expect(bucket.take(500, now: 0) == false)
        #expect(bucket.delay(for: 500, now: 0) == 50 * ms)
        #expect(bucket.take(500, now: 50 * ms) == true)
    }

    @Test func zeroRateNeverRefills() {
        var bucket = TokenBucket(bytesPerSecond: 0, burst: 10, now: 0)
        #expect(bucket.take(10, now: 0) == true)
        #expect(bucket.delay(for: 1, now: second) == .max)
        #expect(bucket.take(1, now: 1000 * second) == false)
    }
}
