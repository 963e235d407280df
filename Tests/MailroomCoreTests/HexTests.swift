import MailroomCore
import Testing

@Suite("Hex and pieces")
struct HexTests {
    @Test("Every byte is two lower-case digits, leading zero kept: stored hashes compare as text")
    func hex() {
        #expect(Hex.lowercase([0x00, 0x0F, 0xAB, 0xFF]) == "000fabff")
        #expect(Hex.lowercase([]) == "")
        #expect(RandomToken.hex().count == 64)
    }

    @Test("Pieces keep order and lose nothing; a size below one counts as one")
    func chunks() {
        #expect(Array(1...5).chunks(of: 2) == [[1, 2], [3, 4], [5]])
        #expect([Int]().chunks(of: 3).isEmpty)
        #expect([1, 2].chunks(of: 0) == [[1], [2]])
    }
}
