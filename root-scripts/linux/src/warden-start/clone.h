/* warden-start --clone (clone.c): a container directory from create.sh's
 * layout template. */
#ifndef WARDEN_START_CLONE_H
#define WARDEN_START_CLONE_H

/* warden-start --clone TEMPLATE TARGET --copy DIR [--owner DIR UID]: 0, or
 * exits 1 with the reason on stderr. */
int clone_main(int argc, char **argv);

/* The entries of the directory FROM moved into the directory TO (another
 * file system: each copied with its owner, mode and times, then removed, as
 * mv does); exits 1 with STEP and the reason on stderr. */
void move_tree(int from, int to, const char *step);

/* warden-start --copy-image SOURCE TARGET: 0, or exits 1 with the reason
 * on stderr. */
int copy_image_main(int argc, char **argv);

#endif
