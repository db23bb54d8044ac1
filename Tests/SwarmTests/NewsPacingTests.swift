import Testing
@testable import Swarm

struct NewsPacingTests {
    @Test func theFirstNewsGoesAtOnceAndLaterNewsAtMostOncePerDelay() {
        var pacing = NewsPacing(delay: 20 * ms)
        #expect(pacing.wait(now: 5 * ms) == 0)  // nothing sent yet
        pacing.sent(now: 5 * ms)
        #expect(pacing.wait(now: 5 * ms) == 20 * ms)
        #expect(pacing.wait(now: 12 * ms) == 13 * ms)
        #expect(pacing.wait(now: 25 * ms - 1) == 1)
        #expect(pacing.wait(now: 25 * ms) == 0)  // a quiet spell of one delay
        #expect(pacing.wait(now: 3600 * second) == 0)
    }

    @Test func aSendTimeNearTheClockEndNeverOverflows() {
        var pacing = NewsPacing(delay: 20 * ms)
        pacing.sent(now: .max - 1)
        #expect(pacing.wait(now: .max) == 0)
        #expect(pacing.wait(now: 0) == 0)
    }

    @Test func aClockBehindTheLastSendWaitsAtMostOneDelay() {
        var pacing = NewsPacing(delay: 20 * ms)
        pacing.sent(now: 100 * ms)
        #expect(pacing.wait(now: 50 * ms) == 20 * ms)
    }
}
