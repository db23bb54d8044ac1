import BundlecastCore
import Logging
import Swarm

/// The download's mirror side: the chunks no peer offers, fetched by HTTP range requests
/// from the app's mirrors, checked against their digests like a peer's, stored, and
/// announced to the peers. ``MirrorPlanner`` decides what to ask of whom; this runs it.
extension Fetch {
    /// One request for a chunk from a mirror.
    struct MirrorRequest: Sendable {
        let chunk: Int
        let mirror: Int
    }

    /// The mirrors of a download and the queue of requests the planner decided.
    struct MirrorWork: Sendable {
        let source: MirrorSource
        /// Where each distinct chunk is in the released tree.
        let locations: [ChunkLocation]
        let requests: AsyncStream<MirrorRequest>
        let queue: AsyncStream<MirrorRequest>.Continuation

        init(source: MirrorSource, locations: [ChunkLocation]) {
            self.source = source
            self.locations = locations
            // Never more than `mirrorRequests` waiting: the planner counts them in flight.
            (requests, queue) = AsyncStream.makeStream(of: MirrorRequest.self)
        }
    }

    /// Runs `body` with the mirror requests served beside it (when the app has mirrors);
    /// those still under way are cancelled when it returns.
    func withMirrors(_ body: () async throws -> Void) async throws {
        guard let work = mirrors else { return try await body() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.runMirrors(work) }
            defer {
                work.queue.finish()
                group.cancelAll()
            }
            try await body()
        }
    }

    /// Every few hundred milliseconds: which chunks have had no offer, and since when.
    func refreshMirrorWaits(now: UInt64) {
        state.withLock { s in
            guard s.mirror?.health.allRefused == false else { return }
            let unoffered = s.planner.unoffered
            s.mirror?.refresh(unoffered: unoffered, now: now)
        }
        pickMirrorRequests(now: now)
    }

    /// Queues the requests there is room for.
    func pickMirrorRequests(now: UInt64) {
        guard let work = mirrors else { return }
        let directives = state.withLock { s -> [MirrorPlanner.Directive] in
            let planner = s.planner
            return s.mirror?.pick(now: now) { planner.isUnoffered($0) } ?? []
        }
        for directive in directives {
            if case .fetch(let chunk, let mirror) = directive { work.queue.yield(MirrorRequest(chunk: chunk, mirror: mirror)) }
        }
    }

    private func runMirrors(_ work: MirrorWork) async {
        await withDiscardingTaskGroup { group in
            for await request in work.requests {
                group.addTask { await self.fetchChunk(request, from: work) }
            }
        }
    }

    /// One chunk from one mirror: checked, stored and announced, or the problem recorded.
    private func fetchChunk(_ request: MirrorRequest, from work: MirrorWork) async {
        let source = work.source, chunk = distinct[request.chunk], location = work.locations[request.chunk]
        let mirror = source.mirrors[request.mirror]
        let file = "\(source.version)/\(location.path)"
        var result = await source.client.chunk(mirror.fileURL(version: source.version, path: location.path),
                                               offset: location.offset, length: Int(chunk.size), file: file)
        if Task.isCancelled { return }
        if case .success(let bytes) = result, Blake2b.digest256(bytes) != chunk.digest {
            result = .failure(.wrongBytes("served bytes \(location.offset)+\(chunk.size) of \(file) that do not match the signed manifest"))
        }
        switch result {
        case .success(let bytes):
            writes.async { [self] in keep(request, bytes, from: work) }
        case .failure(let problem):
            let now = Self.now()
            source.book.problem(app: source.app, mirror: request.mirror, problem, release: digest, now: now)
            let directives = state.withLock { $0.mirror?.answered(chunk: request.chunk, mirror: request.mirror, outcome: problem.outcome, now: now) ?? [] }
            if directives.contains(.refused(mirror: request.mirror)) {
                logger.warning("mirror \(mirror) \(problem): not asked again for \(source.app) \(source.version)", metadata: ["manifest": "\(digest.short)"])
            } else if problem.kind == .unavailable {
                logger.debug("mirror \(mirror) \(problem)")
            }
            pickMirrorRequests(now: now)
        }
    }

    /// A mirror's chunk that matched its digest: stored like a peer's (on the write queue).
    private func keep(_ request: MirrorRequest, _ bytes: [UInt8], from work: MirrorWork) {
        let d = distinct[request.chunk].digest
        do {
            try node.chunks.putVerified(d, bytes)
            node.announce(chunk: d, of: digest)
            self.stored?(d, bytes)
        } catch {
            logger.error("cannot store chunk \(d.short): \(error)")
            finish(.failure(error))
            return
        }
        work.source.book.served(app: work.source.app, mirror: request.mirror, bytes: bytes.count)
        let now = Self.now()
        _ = state.withLock { $0.mirror?.answered(chunk: request.chunk, mirror: request.mirror, outcome: .served, now: now) }
        apply { $0.planner.storedElsewhere(chunk: request.chunk, now: now) }
        pickMirrorRequests(now: now)
    }
}
