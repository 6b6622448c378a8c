"""The real recordings SoundSift may learn from: Debian packages that hold recorded (not synthesized)
sound, by class, with licences (see ../shared/REAL_SOURCES.md; only these, others are kept for
independent evaluation). Each entry says which files, which class, and what one *recording* is (the
unit that never spans two splits: a speaker, a drum kit, a song, or a file).

Classes with no real recordings here (trombone, tubular bells, telephone ring) stay synthetic;
harp, saxophone, clarinet, accordion and french horn have one clip each (train split only).
"""

from __future__ import annotations

from dataclasses import dataclass

AST = "/usr/share/asterisk/sounds"
QABCS = "/usr/share/qabcs/abcs/all/noises"
LMMS = "/usr/share/lmms/samples"
CSQT = "/usr/share/csoundqt/Examples/SourceMaterials"
SCRATCH = "/usr/share/scratch/Media/Sounds"
TUXP = "/usr/share/tuxpaint/stamps"
S3D = "/usr/share/games/scorched3d/data/globalmods/none/data/wav/misc"


@dataclass(frozen=True)
class Entry:
    label: str        # a class of recipes/data/taxonomy.py, or "background" (ambience, never a target)
    package: str      # the Debian package the files come from
    patterns: tuple   # glob patterns (absolute)
    licence: str
    group: str = "file"   # one recording is: "file", "folder" (a speaker or kit in one folder), or a fixed name
    sex: str | None = None  # speech: from the package's own naming (voice folders, speaker names), or
    # "pitch": told at ingest by the speaker's pitch (recipes/data/speaker_sex.py:recording_sex; label
    # "speech" then becomes "male speech" or "female speech"; a speaker it cannot tell is left out)
    kind: str = "clip"    # "clip" (a recording), "kit" (one-shots sequenced into patterns), "stems" (song stems),
    # "sf2kit" (a soundfont of a real kit's recorded one-shots, rendered into patterns by FluidSynth)
    # A fixed split, for recordings added after the validation and test splits were drawn: they train,
    # so that those splits (and every figure measured on them) stay as they were.
    split: str | None = None
    # A later addition: in the corpus only when asked for (`soundsift data real --more`), so that the
    # corpora built before it (and the weights learnt from them) stay reproducible.
    more: bool = False

    def __post_init__(self):
        if self.sex == "pitch" and not self.split:
            raise ValueError(f"{self.group}: a speaker whose sex pitch tells needs a fixed split (its class is "
                             "not known when the splits are drawn)")


CATALOG = [
    # speech: one speaker is one recording
    Entry("female speech", "asterisk-core-sounds-en-wav", (f"{AST}/en_US_f_Allison/**/*.wav",), "CC-BY-SA-3.0",
          "allison-en", "female"),
    Entry("female speech", "asterisk-core-sounds-es-wav", (f"{AST}/es_MX_f_Allison/**/*.wav",), "CC-BY-SA-3.0",
          "allison-es", "female"),
    Entry("female speech", "asterisk-core-sounds-fr-wav", (f"{AST}/fr_CA_f_June/**/*.wav",), "CC-BY-SA-3.0",
          "june-fr", "female"),
    Entry("female speech", "asterisk-prompt-it-menardi-wav", (f"{AST}/it_IT_f_Menardi/**/*.wav",), "CC-BY-SA-3.0",
          "menardi-it", "female"),
    Entry("female speech", "kajongg", ("/usr/share/kajongg/voices/female1/*.ogg", "/usr/share/kajongg/voices/*/female1/*.ogg"),
          "GPL-2+", "kajongg-female1", "female"),
    Entry("female speech", "kajongg", ("/usr/share/kajongg/voices/female2/*.ogg", "/usr/share/kajongg/voices/*/female2/*.ogg"),
          "GPL-2+", "kajongg-female2", "female"),
    Entry("male speech", "festvox-ru", ("/usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/*.wav",),
          "BSD-like (festvox-ru)", "msu-ru-nsh", "male"),
    Entry("male speech", "asterisk-core-sounds-it-wav", (f"{AST}/it_IT_m_Carlo/**/*.wav",), "CC-BY-SA-3.0",
          "carlo-it", "male"),
    Entry("male speech", "kajongg", ("/usr/share/kajongg/voices/male1/*.ogg", "/usr/share/kajongg/voices/*/male1/*.ogg"),
          "GPL-2+", "kajongg-male1", "male"),
    Entry("male speech", "kajongg", ("/usr/share/kajongg/voices/male2/*.ogg", "/usr/share/kajongg/voices/*/male2/*.ogg"),
          "GPL-2+", "kajongg-male2", "male"),
    # true two-stem songs: a lead electric guitar and the backing without it; one song is one recording
    Entry("electric guitar", "fretsonfire-songs-muldjord", ("/usr/share/games/fretsonfire/data/songs/muldjord/*/guitar.ogg",),
          "GPL-2+", "folder", kind="stems"),
    Entry("electric guitar", "fretsonfire-songs-sectoid", ("/usr/share/games/fretsonfire/data/songs/sectoid/*/guitar.ogg",),
          "CC-BY-SA-3.0", "folder", kind="stems"),
    Entry("electric guitar", "qabcs-data", (f"{QABCS}/electric_guitar.ogg",), "GPL-3+"),
    Entry("electric guitar", "lmms-common", (f"{LMMS}/instruments/steel_guitar_*distorted01.ogg",), "GPL-2+"),
    # drum kits: real one-shots sequenced into patterns; one kit is one recording
    Entry("drum kit", "hydrogen-data", ("/usr/share/hydrogen/data/drumkits/GMRockKit/*.wav",), "GPL-2+",
          "hydrogen-gmrockkit", kind="kit"),
    Entry("drum kit", "lmms-common", (f"{LMMS}/drums/*.ogg",), "GPL-2+", "lmms-drums", kind="kit"),
    Entry("drum kit", "chuck-data", ("/usr/share/doc/chuck-data/examples/book/digital-artists/audio/*.wav",),
          "GPL-2+", "chuck-kit", kind="kit"),
    Entry("drum kit", "qabcs-data", (f"{QABCS}/drums.ogg",), "GPL-3+"),
    Entry("helicopter", "searchandrescue-data", ("/usr/share/games/searchandrescue/sounds/helicopter_engine_*.wav",
                                                 "/usr/share/games/searchandrescue/sounds/*/engine_*.wav"), "GPL-2+"),
    Entry("helicopter", "qabcs-data", (f"{QABCS}/helicopter.ogg",), "GPL-3+"),
    Entry("bird song", "qabcs-data", tuple(f"{QABCS}/{b}.ogg" for b in (
        "bird", "crow", "sparrow", "owl", "eagle-owl", "albatross", "booby", "heron", "iora", "wood_grouse", "goose",
        "duck", "rooster", "guinea_fowl", "stork", "flamingo")), "GPL-3+"),
    Entry("bird song", "scratch", (f"{SCRATCH}/Animal/Bird.wav", f"{SCRATCH}/Animal/Owl.wav",
                                   f"{SCRATCH}/Animal/Rooster.wav", f"{SCRATCH}/Animal/Duck.wav",
                                   f"{SCRATCH}/Animal/Goose.wav"), "GPL-2 (scratch media)"),
    Entry("applause", "lmms-common", (f"{LMMS}/misc/applause01.ogg", f"{LMMS}/misc/raving_crowd01.ogg"), "GPL-2+"),
    Entry("piano", "lmms-common", (f"{LMMS}/instruments/piano0*.ogg",), "GPL-2+"),
    Entry("piano", "qabcs-data", (f"{QABCS}/grand_piano.ogg", f"{QABCS}/piano.ogg"), "GPL-3+"),
    Entry("electric piano", "lmms-common", (f"{LMMS}/instruments/e_piano_accord0*.ogg",), "GPL-2+"),
    Entry("church organ", "lmms-common", (f"{LMMS}/instruments/church_organ0*.ogg",), "GPL-2+"),
    Entry("church organ", "qabcs-data", (f"{QABCS}/organ.ogg",), "GPL-3+"),
    Entry("violin", "lmms-common", (f"{LMMS}/instruments/violin_*.ogg",), "GPL-2+"),
    Entry("violin", "csoundqt-examples", (f"{CSQT}/violins.wav", f"{CSQT}/BratscheMono.wav"), "LGPL-2.1+"),
    Entry("violin", "qabcs-data", (f"{QABCS}/violin.ogg",), "GPL-3+"),
    Entry("cello", "lmms-common", (f"{LMMS}/instruments/cello01.ogg",), "GPL-2+"),
    Entry("cello", "qabcs-data", (f"{QABCS}/cello.ogg",), "GPL-3+"),
    Entry("flute", "lmms-common", (f"{LMMS}/instruments/flute01.ogg",), "GPL-2+"),
    Entry("flute", "csoundqt-examples", (f"{CSQT}/flute.wav",), "LGPL-2.1+"),
    Entry("flute", "qabcs-data", (f"{QABCS}/flute.ogg", f"{QABCS}/western_concert_flute.ogg"), "GPL-3+"),
    Entry("trumpet", "lmms-common", (f"{LMMS}/instruments/trumpet01.ogg",), "GPL-2+"),
    Entry("trumpet", "qabcs-data", (f"{QABCS}/trumpet.ogg",), "GPL-3+"),
    Entry("acoustic guitar", "csoundqt-examples", (f"{CSQT}/ClassicalGuitar.wav", f"{CSQT}/ClassGuit.wav"), "LGPL-2.1+"),
    Entry("acoustic guitar", "scratch", (f"{SCRATCH}/Instruments/GuitarStrum.wav",), "GPL-2 (scratch media)"),
    Entry("acoustic guitar", "qabcs-data", (f"{QABCS}/guitar.ogg",), "GPL-3+"),
    Entry("acoustic guitar", "lmms-common", (f"{LMMS}/instruments/steel_guitar01.ogg",), "GPL-2+"),
    Entry("bass guitar", "csoundqt-examples", (f"{CSQT}/BassGuitarC.wav",), "LGPL-2.1+"),
    Entry("bass guitar", "lmms-common", (f"{LMMS}/instruments/bassslap0*.ogg",), "GPL-2+"),
    Entry("choir", "csoundqt-examples", (f"{CSQT}/choir.wav",), "LGPL-2.1+"),
    Entry("marimba", "csoundqt-examples", (f"{CSQT}/marmstk1.wav",), "LGPL-2.1+"),
    Entry("marimba", "qabcs-data", (f"{QABCS}/xylophone.ogg",), "GPL-3+"),
    Entry("sea waves", "csoundqt-examples", (f"{CSQT}/Seashore.wav",), "LGPL-2.1+"),
    Entry("accordion", "qabcs-data", (f"{QABCS}/accordion.ogg",), "GPL-3+"),
    Entry("harp", "qabcs-data", (f"{QABCS}/harp.ogg",), "GPL-3+"),
    Entry("saxophone", "qabcs-data", (f"{QABCS}/saxophone.ogg",), "GPL-3+"),
    Entry("clarinet", "qabcs-data", (f"{QABCS}/clarinet.ogg",), "GPL-3+"),
    Entry("french horn", "qabcs-data", (f"{QABCS}/horn.ogg", f"{QABCS}/natural_horn.ogg"), "GPL-3+"),
    # ambience: a non-target background under real mixtures
    Entry("background", "bucklespring-data", ("/usr/share/buckle/wav/*.wav",), "GPL-2+", "keyboard", kind="kit"),
    Entry("background", "scratch", (f"{SCRATCH}/Effects/WaterRunning.mp3", f"{SCRATCH}/Effects/Bubbles.wav",
                                    f"{SCRATCH}/Animal/Crickets.wav", f"{SCRATCH}/Human/PartyNoise.wav",
                                    f"{SCRATCH}/Effects/CarPassing.wav"), "GPL-2 (scratch media)"),
    Entry("background", "etw-data", ("/usr/share/games/etw/newsound/crowd*.wav", "/usr/share/games/etw/arcadesnd/t*.wav"),
          "GPL-2+", "etw-crowd"),
    Entry("background", "tuxfootball", ("/usr/share/games/tuxfootball/sound/*.ogg",), "GPL-2+", "tuxfootball"),
    Entry("background", "minetest-data", ("/usr/share/games/minetest/games/minetest_game/mods/*/sounds/*water*.ogg",
                                          "/usr/share/games/minetest/games/minetest_game/mods/*/sounds/*fire*.ogg",
                                          "/usr/share/games/minetest/games/minetest_game/mods/*/sounds/*rain*.ogg"),
          "CC-BY-SA-3.0", "minetest"),
    # Speakers added 2026-12-05, training only (so validation and test stay as they were) and last in the
    # catalog (so the ingest's random draws for the recordings before them are unchanged). Their files
    # name the speaker but not the sex, which pitch tells (docs/DATA.md). Fish Fillets' Czech voice
    # acting: the two fish, who speak nearly all its lines ("v" the big one, "m" the small one; the minor
    # characters, a few minutes each and often sung or shouted, are left out).
    Entry("speech", "fillets-ng-data-cs", ("/usr/share/games/fillets-ng/sound/*/cs/*-v-*.ogg",), "GPL-2",
          "fillets-big-fish", "pitch", split="train"),
    Entry("speech", "fillets-ng-data-cs", ("/usr/share/games/fillets-ng/sound/*/cs/*-m-*.ogg",), "GPL-2",
          "fillets-small-fish", "pitch", split="train"),
    # Tux Paint's spoken stamp descriptions: one speaker per language.
    *[Entry("speech", "tuxpaint-stamps-default", (f"/usr/share/tuxpaint/stamps/**/*_desc_{lang}.ogg",), "GPL-2",
            f"tuxpaint-{lang}", "pitch", split="train") for lang in ("fr", "ro", "ru", "ca", "bg", "es", "be", "el", "da")],
    # More recordings per class (added 2026-12-06, training only, last in the catalog as above; stage 15's
    # corpus data/real-more). The shipped separator fits the recordings it has heard and does not carry
    # them to others of their class (docs/SEPARATION.md); these are the remaining listed sources of our
    # classes: Tux Paint's stamp sounds, Scorched 3D's and LibreOffice's effects, a second real drum kit,
    # codec2's test speakers.
    *[Entry("bird song", "tuxpaint-stamps-default", (f"{TUXP}/animals/birds/{b}.ogg",), "GPL-2", split="train",
            more=True)
      for b in ("blackbird", "crow", "cuckoo", "drake", "duck", "gander", "hen", "heron_greatblue_flying", "lark",
                "nandou", "owl", "penguin", "quetzal", "rooster", "seagull", "tucan", "turkey", "vulture")],
    *[Entry(name, "tuxpaint-stamps-default", (f"{TUXP}/hobbies/music/string/{name}.ogg",), "GPL-2", split="train",
            more=True) for name in ("cello", "violin")],
    Entry("drum kit", "tuxpaint-stamps-default", (f"{TUXP}/hobbies/music/percussion/drumkit.ogg",), "GPL-2",
          split="train", more=True),
    Entry("bird song", "scorched3d-data", (f"{S3D}/birds1.wav",), "GPL-2+", split="train", more=True),
    Entry("bird song", "scorched3d-data", (f"{S3D}/birds2.wav",), "GPL-2+", split="train", more=True),
    Entry("bird song", "scorched3d-data", (f"{S3D}/birdchirp*.wav",), "GPL-2+", "scorched3d-birdchirp", split="train",
          more=True),
    Entry("bird song", "scorched3d-data", (f"{S3D}/gull*.wav",), "GPL-2+", "scorched3d-gull", split="train",
          more=True),
    Entry("sea waves", "scorched3d-data", (f"{S3D}/oceanwaves.wav",), "GPL-2+", split="train", more=True),
    Entry("helicopter", "scorched3d-data", (f"{S3D}/apache_1.wav",), "GPL-2+", split="train", more=True),
    Entry("helicopter", "scorched3d-data", ("/usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/helicopter.wav",),
          "CC-BY-SA-3.0", split="train", more=True),
    Entry("background", "scorched3d-data", (f"{S3D}/rain.wav", f"{S3D}/frogs.wav",
                                            "/usr/share/games/scorched3d/data/globalmods/apoc/data/wav/misc/cheeringloop.wav"),
          "GPL-2+ / CC-BY-SA-3.0", split="train", more=True),
    Entry("applause", "libreoffice-common", ("/usr/lib/libreoffice/share/gallery/sounds/applause.wav",), "MPL-2.0",
          split="train", more=True),
    Entry("drum kit", "avldrums.lv2-soundfont", ("/usr/share/sounds/sf2/Red_Zeppelin_4_LV2.sf2",), "GPL-2+",
          "avldrums-red-zeppelin", kind="sf2kit", split="train", more=True),
    # codec2's test utterances, one speaker a file (8 kHz); all.wav strings several of them together
    *[Entry("speech", "codec2-examples", (f"/usr/share/codec2/wav/{f}.wav",), "LGPL-2.1", f"codec2-{f}", "pitch",
            split="train", more=True) for f in ("david4", "ve9qrp", "vk2tpm_004", "vk5qi", "mmt1", "hts1a", "hts2a", "cross",
                                     "big_dog", "forig", "morig")],
]

PACKAGES = sorted({e.package for e in CATALOG})
