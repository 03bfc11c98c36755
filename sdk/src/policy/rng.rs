//! The random source the policies draw jitter from.
//!
//! Policies never reach for a global generator: the caller passes one in, so production code
//! can seed from the operating system (or the browser's `crypto.getRandomValues`) while tests
//! and the herd simulation use a fixed seed and get the same delays on every run.

/// A source of uniformly distributed random bits.
///
/// Implement it over any generator you already have; [`SplitMix64`] is a small, fast,
/// seedable one that compiles everywhere (including `wasm32-unknown-unknown`).
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::{RandomSource, SplitMix64};
///
/// let mut rng = SplitMix64::new(7);
/// let x = rng.next_f64();
/// assert!((0.0..1.0).contains(&x));
/// ```
pub trait RandomSource {
    /// The next 64 uniformly distributed random bits.
    fn next_u64(&mut self) -> u64;

    /// A uniform float in `[0, 1)`, built from the top 53 bits of [`next_u64`](Self::next_u64).
    fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

impl<R: RandomSource + ?Sized> RandomSource for &mut R {
    fn next_u64(&mut self) -> u64 {
        (**self).next_u64()
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): a 64-bit state generator that passes BigCrush,
/// more than enough for jitter. Not for secrets.
///
/// Default is a generator seeded from the system's random source
/// ([`SplitMix64::from_entropy`]).
///
/// # Examples
///
/// ```
/// use lifeline_sdk::policy::{RandomSource, SplitMix64};
///
/// let mut a = SplitMix64::new(42);
/// let mut b = SplitMix64::new(42);
/// assert_eq!(a.next_u64(), b.next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator that yields the same sequence for the same `seed`.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator seeded from the system's random source (through a v4 UUID, which uses
    /// `getrandom` natively and `crypto.getRandomValues` in the browser).
    ///
    /// # Examples
    ///
    /// ```
    /// use lifeline_sdk::policy::{RandomSource, SplitMix64};
    ///
    /// let mut rng = SplitMix64::from_entropy();
    /// let _ = rng.next_u64();
    /// ```
    pub fn from_entropy() -> Self {
        let bits = uuid::Uuid::new_v4().as_u128();
        Self::new((bits as u64) ^ ((bits >> 64) as u64))
    }
}

impl Default for SplitMix64 {
    fn default() -> Self {
        Self::from_entropy()
    }
}

impl RandomSource for SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_floats_in_unit_interval() {
        let mut a = SplitMix64::new(1);
        let mut b = SplitMix64::new(1);
        for _ in 0..1000 {
            let x = a.next_f64();
            assert_eq!(x, b.next_f64());
            assert!((0.0..1.0).contains(&x));
        }
        assert_ne!(SplitMix64::new(1).next_u64(), SplitMix64::new(2).next_u64());
    }

    #[test]
    fn uniform_enough_for_jitter() {
        let mut rng = SplitMix64::new(99);
        let mut buckets = [0u32; 10];
        for _ in 0..100_000 {
            buckets[(rng.next_f64() * 10.0) as usize] += 1;
        }
        for count in buckets {
            assert!((9_500..10_500).contains(&count), "bucket count {count}");
        }
    }
}
