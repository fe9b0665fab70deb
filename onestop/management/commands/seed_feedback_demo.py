from onestop.demo.command import SeedCommand
from onestop.demo.feedback import seed_feedback_demo


class Command(SeedCommand):
    help = "Load demo feedback categories (dev and test only)."
    seed = staticmethod(seed_feedback_demo)
    done = "feedback categories ready"
