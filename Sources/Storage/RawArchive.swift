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
///
/// Writes bypass the page cache where the file system allows it (Linux `O_DIRECT`): a group's messages are copied
/// into one page-aligned buffer and written from there, each group starting on a block boundary. Through the page
/// cache the kernel's copy into fresh pages took from 0.2 to 1.5 CPU-seconds for a 431 MB corpus on this project's
/// machine, varying from run to run; written directly, 0.12 seconds. Where `O_DIRECT` is refused (some network and
/// FUSE file systems, tmpfs before Linux 6.6) the segment is written through the cache, as before.
public final class RawArchive: Sendable {
    public let folder: String
    /// A new segment starts when the current one would pass this size.
    let segmentLimit: Int64
    private let state = Mutex(State())
    private let syncing = Mutex(())
    /// The aligned buffer direct writes go through; held while a group is written.
    private let staging = Mutex(Staging())

    /// The segment being appended to.
    private struct Segment {
        var name: String
        var fd: Int32
        /// Bytes reserved so far, padding included.
        var size: Int64
        /// Written with `O_DIRECT`: every write starts on a block boundary and is a whole number of blocks.
        var direct: Bool
    }

    /// Direct writes are aligned to this in memory, in the file and in length (4096 serves 512-byte devices too).
    static let blockSize = 4096
    /// The staging buffer's size: a group larger than this is written in several aligned writes, so a 25 MB message
    /// costs no second 25 MB copy.
    static let stagingSize = 1 << 20

    /// Linux's `O_DIRECT`, which Swift's Glibc module does not export; nil where there is none.
    static var directFlag: Int32? {
        #if os(Linux) && arch(x86_64)
        return 0o40000
        #elseif os(Linux) && arch(arm64)
        return 0o200000
        #else
        return nil
        #endif
    }

    private struct State {
        /// The archive's own thread, started with the first write: its writes and syncs never queue in front of the
        /// database's statements on NIO's shared blocking pool.
        var pool: NIOThreadPool?
        var current: Segment?
        /// Every segment this process opened: fds to sync and to close.
        var segments: [String: Int32] = [:]
        var unsynced: Set<Int32> = []
        var closed = false
    }

    /// Whether the segment being appended to is written past the page cache (nil before the first write).
    public var writesDirectly: Bool? { state.withLock { $0.current?.direct } }

    /// The folder beside a SQLite database file.
    public static func folder(forDatabase path: String) -> String { path + "-raw" }

    /// Whether new segments try direct writes; off, every segment goes through the page cache.
    let directWrites: Bool

    public init(folder: String, segmentLimit: Int64 = 1 << 30, directWrites: Bool = true) {
        self.folder = folder
        self.segmentLimit = segmentLimit
        self.directWrites = directWrites
    }

    /// Writes `bytes` and says where; they reach the disk at the next ``sync()``.
    public func append(_ bytes: [UInt8]) throws -> RawLocation {
        guard let location = try append(group: [bytes]).first else { throw StoreError.corrupt("The mail archive wrote nothing.") }
        return location
    }

    /// Writes `raws` one after another, in one segment, and says where each is; they reach the disk at the next
    /// ``sync()``.
    public func append(group raws: [[UInt8]]) throws -> [RawLocation] {
        guard !raws.isEmpty else { return [] }
        let total = raws.reduce(0) { $0 + Int64($1.count) }
        let segment = try state.withLock { state -> Segment in
            guard !state.closed else { throw StoreError.unavailable("The mail archive in «\(folder)» is closed.") }
            var current: Segment
            if let open = state.current, open.size == 0 || open.size + total <= segmentLimit {
                current = open
            } else {
                let name = UUID().uuidString.lowercased() + ".mail"
                let (fd, direct) = try createSegment(name)
                current = Segment(name: name, fd: fd, size: 0, direct: direct)
                state.segments[name] = fd
            }
            let reserved = current
            current.size += current.direct ? Self.padded(total) : total
            state.current = current
            return reserved
        }
        var locations: [RawLocation] = []
        locations.reserveCapacity(raws.count)
        var offset = segment.size
        for raw in raws {
            locations.append(RawLocation(segment: segment.name, offset: offset, length: raw.count))
            offset += Int64(raw.count)
        }
        if segment.direct {
            do {
                try writeDirect(raws, fd: segment.fd, at: segment.size)
            } catch let refused as DirectWriteRefused {
                // The file system took the flag but not the write: this segment goes through the cache from now on.
                try turnOffDirect(segment.fd, name: segment.name, after: refused)
                try writeBuffered(raws, fd: segment.fd, at: segment.size)
            }
        } else {
            try writeBuffered(raws, fd: segment.fd, at: segment.size)
        }
        // Marked only once written: a sync that finds it marked covers these bytes.
        state.withLock { _ = $0.unsynced.insert(segment.fd) }
        return locations
    }

    /// `count` rounded up to whole blocks.
    static func padded(_ count: Int64) -> Int64 {
        let block = Int64(blockSize)
        return (count + block - 1) / block * block
    }

    /// The aligned buffer; only touched under ``staging``'s lock.
    private final class Staging: @unchecked Sendable {
        var buffer: UnsafeMutableRawBufferPointer?
        deinit { buffer?.deallocate() }
    }

    /// A direct write the file system refused (EINVAL): alignment it does not accept.
    private struct DirectWriteRefused: Error {
        let reason: String
    }

    /// Copies `raws` through the staging buffer and writes it out in aligned pieces; the last piece is padded with
    /// zeros to a whole block, which the next group's reservation skips.
    private func writeDirect(_ raws: [[UInt8]], fd: Int32, at start: Int64) throws {
        try staging.withLock { staging in
            let buffer: UnsafeMutableRawBufferPointer
            if let existing = staging.buffer {
                buffer = existing
            } else {
                buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.stagingSize, alignment: Self.blockSize)
                staging.buffer = buffer
            }
            guard let base = buffer.baseAddress else { return }
            var offset = start, filled = 0
            func flush(_ count: Int) throws {
                try writeAll(UnsafeRawBufferPointer(start: base, count: count), fd: fd, at: offset, direct: true)
                offset += Int64(count)
                filled = 0
            }
            for raw in raws {
                var consumed = 0
                while consumed < raw.count {
                    let take = min(raw.count - consumed, buffer.count - filled)
                    raw.withUnsafeBytes { source in
                        guard let from = source.baseAddress else { return }
                        (base + filled).copyMemory(from: from + consumed, byteCount: take)
                    }
                    filled += take
                    consumed += take
                    if filled == buffer.count { try flush(filled) }
                }
            }
            if filled > 0 {
                let whole = Int(Self.padded(Int64(filled)))
                (base + filled).initializeMemory(as: UInt8.self, repeating: 0, count: whole - filled)
                try flush(whole)
            }
        }
    }

    private func writeBuffered(_ raws: [[UInt8]], fd: Int32, at start: Int64) throws {
        var offset = start
        for raw in raws {
            try raw.withUnsafeBytes { try writeAll($0, fd: fd, at: offset, direct: false) }
            offset += Int64(raw.count)
        }
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer, fd: Int32, at offset: Int64, direct: Bool) throws {
        guard let base = bytes.baseAddress else { return }
        var done = 0
        while done < bytes.count {
            let written = pwrite(fd, base + done, bytes.count - done, off_t(offset + Int64(done)))
            if written < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                if direct && errno == EINVAL { throw DirectWriteRefused(reason: reason) }
                throw StoreError.unavailable("Cannot write to the mail archive in «\(folder)»: \(reason).")
            }
            done += written
        }
    }

    private func turnOffDirect(_ fd: Int32, name: String, after refused: DirectWriteRefused) throws {
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, let direct = Self.directFlag, fcntl(fd, F_SETFL, flags & ~direct) == 0 else {
            throw StoreError.unavailable("Cannot write to the mail archive in «\(folder)»: \(refused.reason).")
        }
        state.withLock { state in
            if state.current?.name == name { state.current?.direct = false }
        }
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
            let locations = try self.append(group: raws)
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
        let closeAll: @Sendable () -> Void = { fds.forEach { _ = Foundation.close($0) } }
        // Work queued on the thread still runs (its appends fail: closed), and only then are the files closed, so no
        // write can land in a file that reused a closed descriptor.
        if let pool { pool.shutdownGracefully { _ in closeAll() } } else { closeAll() }
    }

    static func isSegmentName(_ name: String) -> Bool {
        name.hasSuffix(".mail") && name.count == 41 && name.utf8.dropLast(5).allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || $0 == 0x2D }
    }

    /// A new, empty segment whose name is on disk before any row can refer to it (the folder is synced), and whether
    /// it takes direct writes. The flag is set after creating the file: a file system that refuses it at `open`
    /// would leave the file behind.
    private func createSegment(_ name: String) throws -> (fd: Int32, direct: Bool) {
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
        let flags = fcntl(fd, F_GETFL)
        guard directWrites, let direct = Self.directFlag, flags >= 0, fcntl(fd, F_SETFL, flags | direct) == 0 else { return (fd, false) }
        return (fd, true)
    }
}
