/* warden-start --clone (clone.c): a container directory from create.sh's
 * layout template. */
#ifndef WARDEN_START_CLONE_H
#define WARDEN_START_CLONE_H

/* warden-start --clone TEMPLATE TARGET --copy DIR [--owner DIR UID]: 0, or
 * exits 1 with the reason on stderr. */
int clone_main(int argc, char **argv);

#endif
