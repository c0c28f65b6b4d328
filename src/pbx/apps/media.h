/* apps/media: the media applications (asterisk-semantics.md §6): Playback,
 * Background, Read, SayDigits, SayNumber, TTS, PlayTones, StopPlayTones,
 * MusicOnHold, StartMusicOnHold, StopMusicOnHold, SendDTMF, MixMonitor,
 * StopMixMonitor; and the background sounds Dial and hold need. */
#ifndef TAMAS_APPS_MEDIA_H
#define TAMAS_APPS_MEDIA_H

#include <stdbool.h>

struct chan;
struct dialplan;
struct mohset;
struct recwriter;
struct tts;

/* Owned by the daemon; must outlive every channel. */
struct media_conf {
	const char *sounds_dir;       /* media.sounds_dir */
	const char *announce_dir;     /* media.announcements_dir: the REST API's
				       * announcements, looked up before sounds_dir */
	const char *language;         /* media.language (default "en") */
	const char *tonezone;         /* media.tonezone ("us", "ir", ...) */
	const char *recordings_dir;   /* media.recordings_dir */
	const char *moh_class;        /* media.musicclass (default "default") */
	struct mohset *moh;
	struct recwriter *recw;
	struct tts *tts;
	struct dialplan *dp;          /* Background's extension matching */
};

int apps_media_register(const struct media_conf *mc);
/* Background sounds owned by the channel: music on hold of a class (NULL:
 * the channel's CHANNEL(musicclass), then media.musicclass) or a tone by
 * name in the zone ("ring", "busy") or as a spec; stop ends either. */
int media_moh_start(struct chan *ch, const char *mclass);
int media_tone_start(struct chan *ch, const char *tone);
void media_gen_stop(struct chan *ch);
/* Plays prompt(s) ("a&b") to the channel once, in the middle of whatever it
 * does (a warning into a bridged call); the app-less Playback. */
int media_announce(struct chan *ch, const char *files);

#endif
