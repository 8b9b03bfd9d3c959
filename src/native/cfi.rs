//! DWARF call-frame information (`.eh_frame`, `.eh_frame_hdr`, `.debug_frame`).
