pub(crate) fn write(
    _m: &[crate::ObjectModule],
    _o: &crate::LinkOptions,
) -> Result<Vec<u8>, crate::LinkError> {
    Err(crate::LinkError::unsupported("PE writer: in progress"))
}
