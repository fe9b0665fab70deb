from onestop.demo.command import SeedCommand
from onestop.demo.dossiers import seed_demo


class Command(SeedCommand):
    help = "Load demo agencies, demo-only accounts and a demo catalog (dev and test only)."
    seed = staticmethod(seed_demo)
