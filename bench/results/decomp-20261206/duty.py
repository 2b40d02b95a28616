import os, sys, time, signal
pid=int(sys.argv[1]); on=float(sys.argv[2]); off=float(sys.argv[3])
try:
    while True:
        os.kill(pid, signal.SIGSTOP); time.sleep(off)
        os.kill(pid, signal.SIGCONT); time.sleep(on)
except (ProcessLookupError, KeyboardInterrupt):
    pass
