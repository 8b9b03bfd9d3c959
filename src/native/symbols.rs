//! Function symbols of an object file (`.symtab`, `.dynsym`, a debug file found by build id).
