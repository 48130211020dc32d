"""The Dual-Sequence LSTM baseline (Wang et al., ICASSP 2020): an LSTM on MFCCs beside a DS-LSTM that reads two
log-Mel spectrograms of the same clip, one fine in time (n_fft 512) and one fine in frequency (n_fft 1024).

Where the paper leaves a detail open, the authors' public code decides it (github.com/diaoenmao/
Speech-Emotion-Recognition-with-Dual-Sequence-LSTM-Architecture, src/final_model_random/model4.py and train.py).
All clips are fixed-length segments here, so every frame is valid and nothing is masked.
"""

from contextlib import nullcontext

import torch
from torch import nn
from torch.nn import functional as F

CHANNELS = (64, 16)
KERNELS = ((4, 2), (2, 4))  # (Mel bins, frames) of the fine and the coarse front-end, the same in both of its layers


class DualSequenceLSTMCell(nn.Module):
    """One step of an LSTM that reads a step of each of two sequences, x and y, into one shared state.

        f, i_T, i_F, o = sigmoid(W_g [x; y; h] + b_g)      every gate sees both inputs, as in the authors' code
        C = f * C + i_T * tanh(W_T [x; h] + b_T) + i_F * tanh(W_F [y; h] + b_F)
        h = o * tanh(C)

    The authors also batch-normalise the gates after the sigmoid with statistics per time step, and h before it
    leaves the cell; both are left out: per-step statistics tie the model to one sequence length, and a normalised
    gate leaves [0, 1], which the paper's equations do not describe.

    The weights are stored by what they multiply rather than by gate, so that a layer projects the inputs of all
    its time steps in one matmul before its loop: x_proj holds the x columns of the gates f, i_T, i_F, o and of W_T,
    y_proj the y columns of the four gates and of W_F, h_proj the h columns of all six and their biases.
    Parameters: 5H(Dx + Dy) + 6H(H + 1), as many as the authors' three Linear layers.
    """

    def __init__(self, input_t, input_f, hidden):
        super().__init__()
        self.hidden = hidden
        self.x_proj = nn.Linear(input_t, 5 * hidden, bias=False)
        self.y_proj = nn.Linear(input_f, 5 * hidden, bias=False)
        self.h_proj = nn.Linear(hidden, 6 * hidden)

    def project(self, x, y):
        """x [..., Dx], y [..., Dy] -> [..., 6H]: the input terms of the four gates, of W_T and of W_F."""
        gates = 4 * self.hidden
        px, py = self.x_proj(x), self.y_proj(y)
        return torch.cat([px[..., :gates] + py[..., :gates], px[..., gates:], py[..., gates:]], dim=-1)

    def step(self, projected, state):
        """One step from projected inputs [B, 6H] and state (h, c) -> the new (h, c), in float32 under autocast too:
        the matmuls may run in bfloat16, but a state carried through every frame in it would lose its precision."""
        h, c = state
        wide = torch.promote_types(projected.dtype, torch.float32)  # float32 at least (float64 stays)
        z = projected.to(wide) + self.h_proj(h).to(wide)
        forget, input_t, input_f, output = torch.sigmoid(z[:, : 4 * self.hidden]).chunk(4, dim=1)
        candidate_t, candidate_f = torch.tanh(z[:, 4 * self.hidden :]).chunk(2, dim=1)
        c = forget * c + input_t * candidate_t + input_f * candidate_f
        return output * torch.tanh(c), c

    def forward(self, x, y, state=None):
        """One step: x [B, Dx], y [B, Dy], state (h, c) or None for zeros -> (h, c), each [B, H]."""
        if state is None:
            zeros = x.new_zeros(len(x), self.hidden)
            state = (zeros, zeros)
        return self.step(self.project(x, y), state)


class DualSequenceLSTM(nn.Module):
    """Stacked DS-LSTM layers over x [B, T, Dx] and y [B, T, Dy] -> the last layer's hidden states [B, T, H].

    Layer 1 reads (x, y); every later layer reads (the layer below's hidden states, y): the authors feed the
    coarse sequence into each layer again rather than pairing the hidden sequence with itself.
    """

    def __init__(self, input_t, input_f, hidden, layers):
        super().__init__()
        self.cells = nn.ModuleList(
            DualSequenceLSTMCell(input_t if layer == 0 else hidden, input_f, hidden) for layer in range(layers)
        )

    def forward(self, x, y):
        for cell in self.cells:  # layer by layer: no layer feeds back into one below, so this equals step by step
            projected = cell.project(x, y)
            state = (x.new_zeros(len(x), cell.hidden),) * 2
            steps = []
            for t in range(projected.shape[1]):
                state = cell.step(projected[:, t], state)
                steps.append(state[0])
            x = torch.stack(steps, dim=1)
        return x


def front_end(kernel):
    """Log-Mel [B, 1, n_mels, T] -> feature maps [B, 16, n_mels', T'] (the authors' two "LFLB" blocks).

    Conv stride 1 with padding (k - 1) // 2 per axis, then batch norm, ReLU and 2x2 max pooling with stride 2.
    """
    padding = tuple((k - 1) // 2 for k in kernel)
    layers = []
    for c_in, c_out in zip((1, *CHANNELS), CHANNELS):
        layers += [nn.Conv2d(c_in, c_out, kernel, padding=padding), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*layers)


def front_end_size(n, kernel):
    """Length of one axis after the front-end: each conv gives n + 2p - k + 1, each pooling halves that."""
    for _ in CHANNELS:
        n = (n + 2 * ((kernel - 1) // 2) - kernel + 1) // 2
    return n


class DSLSTM(nn.Module):
    """MFCC [B, 39, T1], fine log-Mel [B, 128, T2], coarse log-Mel [B, 256, T3] -> (MFCC logits, spectrogram logits).

    The two branches' logits come back separately: the paper averages the branches' losses and logits, which the
    training loop does. MFCC branch: nn.LSTM, mean over frames, Linear(H, classes). Spectrogram branch: a front-end
    per spectrogram, flattened per frame (channels x Mel bins); the fine sequence, twice as long, is averaged over
    windows of 3 frames with stride 2 so both have one length (both cropped to the shorter if not); the DS-LSTM
    reads the pair, its last layer's states are averaged over time, Linear(H, classes).

    Parameters, with H = 200, 2 layers, K classes: MFCC LSTM 4H(39 + H) + 8H + 4H(2H) + 8H = 514,400; front-ends
    2 * (64*8 + 64 + 2*64 + 16*64*8 + 16 + 2*16) = 17,888 (batch-norm scale and shift; kernels of 8 taps);
    the flattened frames have Dx = 16 * 31 = 496 (128 -> 127 -> 63 -> 62 -> 31 Mel rows) and Dy = 16 * 63 = 1,008
    (256 -> 255 -> 127 -> 126 -> 63); DS-LSTM layer 1 5H(Dx + Dy) + 6H(H + 1) = 1,745,200, layer 2
    5H(H + Dy) + 6H(H + 1) = 1,449,200; two heads 2(HK + K). Total 3,726,688 + 402K: 3,728,296 for 4 classes,
    3,729,502 for 7 (running batch-norm statistics are buffers).
    """

    def __init__(self, classes, mfcc_dim=39, mels=(128, 256), hidden=200, layers=2):
        super().__init__()
        self.mfcc_lstm = nn.LSTM(mfcc_dim, hidden, layers, batch_first=True)
        self.mfcc_head = nn.Linear(hidden, classes)
        self.fine_cnn, self.coarse_cnn = (front_end(kernel) for kernel in KERNELS)
        width_t, width_f = (CHANNELS[-1] * front_end_size(n_mels, kernel[0]) for n_mels, kernel in zip(mels, KERNELS))
        self.ds_lstm = DualSequenceLSTM(width_t, width_f, hidden, layers)
        self.spectrogram_head = nn.Linear(hidden, classes)

    def sequences(self, fine, coarse):
        """The DS-LSTM's two input sequences, [B, T, Dx] and [B, T, Dy], from the two spectrograms."""
        x = F.avg_pool1d(self.fine_cnn(fine.unsqueeze(1)).flatten(1, 2), 3, 2)
        y = self.coarse_cnn(coarse.unsqueeze(1)).flatten(1, 2)
        steps = min(x.shape[-1], y.shape[-1])
        return x[..., :steps].transpose(1, 2), y[..., :steps].transpose(1, 2)

    def forward(self, mfcc, fine, coarse):
        # nn.LSTM under autocast runs in float16 on cuDNN whatever autocast's dtype (bfloat16 included), and in
        # bfloat16 on oneDNN: this one runs in float32 everywhere, as the DS-LSTM's cell keeps its state
        device = mfcc.device.type
        with torch.autocast(device, enabled=False) if torch.amp.is_autocast_available(device) else nullcontext():
            states, _ = self.mfcc_lstm(mfcc.transpose(1, 2).float())  # (no autocast on the meta device, say)
        mfcc_logits = self.mfcc_head(states.mean(dim=1))
        spectrogram_logits = self.spectrogram_head(self.ds_lstm(*self.sequences(fine, coarse)).mean(dim=1))
        return mfcc_logits, spectrogram_logits
