// Placeholder: scaling-law fits land here.
public enum ScalingLawsInfo {}
