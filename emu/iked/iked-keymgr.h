/* The key-manager mode of mip6ike-iked (--pfkey / --selftest-write-msrd):
 * see iked-keymgr.c. */
#ifndef MIP6IKE_EMU_IKED_KEYMGR_H
#define MIP6IKE_EMU_IKED_KEYMGR_H

int m6e_iked_keymgr_main(int argc, char **argv);

#endif
