// Passes: the pass library (protocol, manager, registry); built out in a later change.
/// The version of the pass library interface.
public let passLibraryVersion = 0
