/// The seat model of ``SeatState``, ``SeatView`` and ``SeatEffect`` with every user, hold and
/// booking named by a number (``PackedNames``), for the search: a frame is then copied, hashed
/// and compared without touching a string or a reference count.
struct PackedState: Hashable, Sendable {
    enum Kind: UInt8, Sendable { case free, held, booked }
    var kind: Kind
    /// The holder or the booker (-1 when free).
    var user: Int32 = -1
    /// The hold (held) or the booking (booked); -1 when unknown.
    var tag: Int32 = -1
    /// When a hold lapses; nil when unknown.
    var expiresNs: Int64? = nil

    static let free = PackedState(kind: .free)
}

enum PackedView: Sendable {
    case free, taken
    case heldBy(Int32)
    case booked
    case bookedAs(Int32)
    case notBooked

    /// ``SeatView/matches(_:)``, on numbers.
    func matches(_ state: PackedState) -> Bool {
        switch (self, state.kind) {
        case (.free, .free), (.notBooked, .free), (.notBooked, .held), (.taken, .held), (.taken, .booked), (.booked, .booked): true
        case (.heldBy(let user), .held): user == state.user
        case (.bookedAs(let booking), .booked): state.tag == -1 || state.tag == booking
        default: false
        }
    }
}

enum PackedEffect: Sendable {
    case hold(user: Int32, hold: Int32, expiresNs: Int64?)
    case release(user: Int32, hold: Int32)
    case extend(hold: Int32, expiresNs: Int64?)
    case checkout(user: Int32, booking: Int32)
    case checkoutAcrossLoss(user: Int32, booking: Int32)
    case freeze(user: Int32)
    case cancel(booking: Int32)
    case read(PackedView)
}

/// Numbers for the names of one seat's operations (users, holds and bookings share them: each is
/// compared only with names of its own role). Nil is -1.
struct PackedNames {
    private var ids: [String: Int32] = [:]
    private var names: [String] = []

    mutating func id(_ name: String?) -> Int32 {
        guard let name else { return -1 }
        if let id = ids[name] { return id }
        names.append(name)
        ids[name] = Int32(names.count - 1)
        return Int32(names.count - 1)
    }

    func name(_ id: Int32) -> String? { id < 0 ? nil : names[Int(id)] }

    mutating func pack(_ view: SeatView) -> PackedView {
        switch view {
        case .free: .free
        case .taken: .taken
        case .heldBy(let user): .heldBy(id(user))
        case .booked: .booked
        case .bookedAs(let booking): .bookedAs(id(booking))
        case .notBooked: .notBooked
        }
    }

    mutating func pack(_ effect: SeatEffect) -> PackedEffect {
        switch effect {
        case .hold(let user, let hold, let expires): .hold(user: id(user), hold: id(hold), expiresNs: expires)
        case .release(let user, let hold): .release(user: id(user), hold: id(hold))
        case .extend(let hold, let expires): .extend(hold: id(hold), expiresNs: expires)
        case .checkout(let user, let booking): .checkout(user: id(user), booking: id(booking))
        case .checkoutAcrossLoss(let user, let booking): .checkoutAcrossLoss(user: id(user), booking: id(booking))
        case .freeze(let user): .freeze(user: id(user))
        case .cancel(let booking): .cancel(booking: id(booking))
        case .read(let view): .read(pack(view))
        }
    }

    /// The state with its names back, for people.
    func unpack(_ state: PackedState) -> SeatState {
        switch state.kind {
        case .free: .free
        case .held: .held(user: name(state.user) ?? "", hold: name(state.tag), expiresNs: state.expiresNs)
        case .booked: .booked(user: name(state.user) ?? "", booking: name(state.tag))
        }
    }
}
