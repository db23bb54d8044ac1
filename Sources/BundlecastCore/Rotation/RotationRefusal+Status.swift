extension RotationRefusal {
    /// The HTTP status the origin and a node's admin API both answer a refused statement with:
    /// 400 it does not parse, 409 it comes out of order, 401 a signature fails, 403 it is not
    /// this receiver's to take (another app, another old key, a key rotated to itself).
    public var httpStatusCode: Int {
        switch self {
        case .malformed: 400
        case .replay, .gap: 409
        case .badSignature: 401
        case .untrustedApp, .wrongApp, .wrongOldKey, .sameKey: 403
        }
    }
}
