import ArgumentParser
import PulseReference
print("pulse")
