import Foundation
import MailroomCore
import NIOPosix
import Synchronization

/// Raw bytes of fetched mail beside a SQLite database, in append-only segment files (`<database>-raw/*.mail`).
///
/// Why: in SQLite every byte of a row is written twice (into the write-ahead log, then by the checkpoint into the
/// database), both times by the one writer that every commit waits for. Raw messages are most of the bytes and are
/// never changed, so a group's are written here once, while the group before it commits, and its commit only
/// records where they are.
///
/// Durability: ``sync()`` (`fdatasync`) runs before the commit that refers to the bytes, so a row never points at
/// bytes a power failure could take; a crash between the two only leaves unreferenced bytes behind. Each process
/// writes segments of its own (named by a random id), so two processes on one database never write the same file.
/// Segments stay open for the archive's lifetime: a write may still be in flight when a segment fills up.
public final class RawArchive: Sendable {
    public let folder: String
    /// A new segment starts when the current one would pass this size.
    let segmentLimit: Int64
    private let state = Mutex(State())
    private let syncing = Mutex(())

    private struct State {
        /// The archive's own thread, started with the first write: its writes and syncs never queue in front of the
        /// database's statements on NIO's shared blocking pool.
        var pool: NIOThreadPool?
        var current: (name: String, fd: Int32, size: Int64)?
        /// Every segment this process opened: fds to sync and to close.
        var segments: [String: Int32] = [:]
        var unsynced: Set<Int32> = []
        var closed = false
    }

    /// The folder beside a SQLite database file.
    public static func folder(forDatabase path: String) -> String { path + "-raw" }

    public init(folder: String, segmentLimit: Int64 = 1 << 30) {
        self.folder = folder
        self.segmentLimit = segmentLimit
    }

    /// Writes `bytes` and says where; they reach the disk at the next ``sync()``.
    public func append(_ bytes: [UInt8]) throws -> RawLocation {
        let (name, fd, offset) = try state.withLock { state -> (String, Int32, Int64) in
            guard !state.closed else { throw StoreError.unavailable("The mail archive in «\(folder)» is closed.") }
            var current: (name: String, fd: Int32, size: Int64)
            if let open = state.current, open.size == 0 || open.size + Int64(bytes.count) <= segmentLimit {
                current = open
            } else {
                let name = UUID().uuidString.lowercased() + ".mail"
                current = (name, try createSegment(name), 0)
                state.segments[name] = current.fd
            }
            let offset = current.size
            current.size += Int64(bytes.count)
            state.current = current
            return (current.name, current.fd, offset)
        }
        try bytes.withUnsafeBytes { buffer in
            var done = 0
            while done < buffer.count {
                let written = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + Int64(done)))
                if written < 0 {
                    if errno == EINTR { continue }
                    throw StoreError.unavailable("Cannot write to the mail archive in «\(folder)»: \(String(cString: strerror(errno))).")
                }
                done += written
            }
        }
        // Marked only once written: a sync that finds it marked covers these bytes.
        state.withLock { _ = $0.unsynced.insert(fd) }
        return RawLocation(segment: name, offset: offset, length: bytes.count)
    }

    /// ``sync()`` on the archive's thread; at once when nothing was ever written.
    public func syncPending() async throws {
        _ = try await store([])
    }

    /// Returns once everything appended so far is on disk. Blocking: ``store(_:)`` calls it off the cooperative pool.
    public func sync() throws {
        // One sync at a time: a caller that finds nothing left to sync must not return while another's fdatasync,
        // which took its bytes along, is still running.
        try syncing.withLock { _ in
            let fds = state.withLock { state -> Set<Int32> in
                defer { state.unsynced.removeAll() }
                return state.unsynced
            }
            for fd in fds where fdatasync(fd) != 0 {
                let reason = String(cString: strerror(errno))
                // Not synced: the next sync must try again, and the caller must not commit.
                state.withLock { _ = $0.unsynced.insert(fd) }
                throw StoreError.unavailable("Cannot write the mail archive in «\(folder)» to disk: \(reason).")
            }
        }
    }

    /// Appends every message and syncs, on the archive's own thread: writing and a slow disk never hold a
    /// cooperative thread, and groups are written one at a time, not fought over by several threads (a file takes
    /// one buffered writer at a time, and the others spin).
    public func store(_ raws: [[UInt8]]) async throws -> [RawLocation] {
        if raws.isEmpty && state.withLock({ $0.pool == nil && $0.unsynced.isEmpty }) { return [] }
        let pool = try state.withLock { state -> NIOThreadPool in
            guard !state.closed else { throw StoreError.unavailable("The mail archive in «\(folder)» is closed.") }
            if let pool = state.pool { return pool }
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            state.pool = pool
            return pool
        }
        return try await pool.runIfActive {
            let locations = try raws.map { try self.append($0) }
            try self.sync()
            return locations
        }
    }

    /// The bytes at `location`; throws when the segment is missing or shorter than the row says.
    public func read(_ location: RawLocation) throws -> [UInt8] {
        // The name comes from the database, but only a name this class makes is opened.
        guard Self.isSegmentName(location.segment), location.offset >= 0, location.length >= 0 else {
            throw StoreError.corrupt("A message refers to «\(location.segment)», which is not a segment of the mail archive.")
        }
        let fd = open(folder + "/" + location.segment, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw StoreError.corrupt("The original of this message is missing: «\(location.segment)» cannot be opened in «\(folder)» (\(String(cString: strerror(errno)))).")
        }
        defer { _ = Foundation.close(fd) }
        var failure: String?
        let bytes = [UInt8](unsafeUninitializedCapacity: location.length) { buffer, initialized in
            var done = 0
            while done < location.length {
                let got = pread(fd, buffer.baseAddress! + done, location.length - done, off_t(location.offset + Int64(done)))
                if got < 0 && errno == EINTR { continue }
                if got <= 0 {
                    failure = got < 0 ? String(cString: strerror(errno)) : "the segment ends early"
                    break
                }
                done += got
            }
            initialized = done
        }
        if let failure {
            throw StoreError.corrupt("The original of this message is damaged in the mail archive («\(location.segment)»: \(failure)).")
        }
        return bytes
    }

    /// Closes every segment; later appends fail.
    public func close() {
        let (fds, pool) = state.withLock { state -> ([Int32], NIOThreadPool?) in
            state.closed = true
            state.current = nil
            defer {
                state.segments.removeAll()
                state.pool = nil
            }
            return (Array(state.segments.values), state.pool)
        }
        let closeAll = { fds.forEach { _ = Foundation.close($0) } }
        // Work queued on the thread still runs (its appends fail: closed), and only then are the files closed, so no
        // write can land in a file that reused a closed descriptor.
        if let pool { pool.shutdownGracefully { _ in closeAll() } } else { closeAll() }
    }

    static func isSegmentName(_ name: String) -> Bool {
        name.hasSuffix(".mail") && name.count == 41 && name.utf8.dropLast(5).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }
    }

    /// A new, empty segment whose name is on disk before any row can refer to it (the folder is synced).
    private func createSegment(_ name: String) throws -> Int32 {
        if mkdir(folder, 0o700) != 0 && errno != EEXIST {
            throw StoreError.unavailable("Cannot create the mail archive folder «\(folder)»: \(String(cString: strerror(errno))).")
        }
        let fd = open(folder + "/" + name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError.unavailable("Cannot create a segment in the mail archive «\(folder)»: \(String(cString: strerror(errno))).")
        }
        for directory in [folder, (folder as NSString).deletingLastPathComponent] {
            let dirFD = open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            if dirFD >= 0 {
                _ = fsync(dirFD)
                _ = Foundation.close(dirFD)
            }
        }
        return fd
    }
}
