import Testing
import HummingbirdTesting
import HummingbirdWSClient
@testable import PulseReference
@Test func placeholder() { #expect(1 == 1) }
