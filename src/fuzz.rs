//! Entry points for the fuzz targets in `tests/fuzz`: each decodes untrusted bytes with the
//! code pyflame runs on a target's memory or files, and must return (never panic, hang or
//! allocate beyond its caps) whatever the bytes are.
